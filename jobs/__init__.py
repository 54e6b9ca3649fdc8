"""What the bot does on its own: collect, analyse, deliver, and the scheduled jobs around them."""
