"""The wxpy adapter against stand-ins for wxpy's Bot, Group and Message objects (wxpy itself
needs a web-WeChat login). Messages arrive from another thread, as wxpy delivers them."""

from __future__ import annotations

import asyncio
import itertools
import threading

import pytest

from bot.app import App
from bot.config import load_config
from bot.platforms.wxpy import WxpyPlatform
from core.errors import SettingsError
from tests.conftest import config_with_handles, make_settings, settled, until

GROUP = "云川舆情监测群"
PUIDS = {"liqiang": "a1b2c3d4", "zhoulan": "e5f6a7b8"}


class Sent:
    _ids = itertools.count(1)

    def __init__(self):
        self.id = next(self._ids)


class Chat:
    def __init__(self, name):
        self.name = name
        self.sent: list[str] = []
        self.images: list[str] = []
        self.fail = 0

    def send(self, text):
        assert threading.current_thread() is not threading.main_thread(), "wxpy calls must not block the loop"
        if self.fail:
            self.fail -= 1
            raise ConnectionError("web WeChat went away")
        self.sent.append(text)
        return Sent()

    def send_image(self, path):
        self.images.append(path)
        return Sent()


class Member:
    def __init__(self, name, puid):
        self.name, self.puid = name, puid


class Message:
    def __init__(self, chat, member, text):
        self.chat, self.member, self.text = chat, member, text


class Listing(list):
    def search(self, keywords=None):
        return [c for c in self if keywords in c.name]


class StandInBot:
    """What the adapter uses of wxpy.Bot: groups(), friends(), register(), logout()."""

    def __init__(self):
        self.group = Chat(GROUP)
        self._groups = Listing([Chat("家人群"), self.group])
        self._friends = Listing([Chat("陈副部长")])
        self.registered = []
        self.puid_path = None
        self.stopped = False

    def groups(self):
        return self._groups

    def friends(self):
        return self._friends

    def register(self, chats=None, msg_types=None, except_self=True):
        def deco(func):
            self.registered.append((chats, msg_types, func))
            return func

        return deco

    def enable_puid(self, path):
        self.puid_path = path

    def stop(self):
        self.stopped = True

    def incoming(self, who, text, puid=None):
        """A group message, delivered from wxpy's listener thread."""
        chats, _, func = self.registered[0]
        assert self.group in chats
        puid = puid or PUIDS.get({"李强": "liqiang", "周岚": "zhoulan"}.get(who, ""), "ffff0000")
        t = threading.Thread(target=func, args=(Message(self.group, Member(who, puid), text),))
        t.start()
        t.join()


def wxpy_config(config_dir):
    return config_with_handles(config_dir, "wxpy", PUIDS)


@pytest.fixture
async def wx(config_dir, tmp_path):
    bot = StandInBot()
    settings = make_settings(tmp_path, platform="wxpy", wxpy_group=GROUP, deliver_interval=0.2, collect_on_start=False)
    platform = WxpyPlatform(wxpy_config(config_dir), settings=settings, login=lambda cache: bot)
    platform.digest_after = 100
    app = App(settings, platform.config, platforms={"wxpy": platform})
    await app.collect_once()  # collected before the start: a backlog, delivered highest grade first
    await platform.open(app.host)
    await app.start()
    task = asyncio.create_task(platform.serve(app.host))
    await until(lambda: len([t for t in bot.group.sent if " · #" in t.split("\n")[0]]) >= 6)
    yield bot, app
    platform.stop()
    await task
    await app.stop()
    await platform.close()
    app.close()
    assert bot.stopped and bot.puid_path.endswith("wxpy_puid.pkl")


async def test_cards_go_to_the_named_group_as_text(wx):
    bot, _app = wx
    first = bot.group.sent[0]
    assert first.startswith("🔴 I 特别重大") and "https://paper.province.example/" in first
    assert not bot._groups[0].sent  # the other group hears nothing


async def test_commands_typed_in_the_group(wx):
    bot, app = wx
    bot.incoming("李强", "认领 1")
    await until(lambda: "✋ #1 已由 李强 认领" in bot.group.sent)
    bot.incoming("周岚", "/claim 1")
    await until(lambda: any(t.startswith("@周岚") and "已由 李强 认领" in t for t in bot.group.sent))
    bot.incoming("路人甲", "/list")
    await until(lambda: any(t.startswith("@路人甲") and "还没有登记" in t for t in bot.group.sent))
    bot.incoming("李强", "认领 2", puid="99999999")  # someone renamed to 李强 in the group
    await until(lambda: any(t.startswith("@李强") and "还没有登记" in t for t in bot.group.sent))
    assert app.service.get(2).assignee is None
    n = len(bot.group.sent)
    # ordinary talk gets no answer: the adapter's handler, awaited to its end, then delivery drained
    await app.platforms["wxpy"].on_message(bot.group, PUIDS["liqiang"], "李强", "今天天气不错")
    await settled(app)
    assert len(bot.group.sent) == n


async def test_a_failed_send_is_retried_without_loss(wx):
    bot, app = wx
    bot.group.fail = 1
    bot.incoming("李强", "备注 1 网络抖动时的备注")
    await until(
        lambda: app.db.execute("SELECT COUNT(*) FROM outbox WHERE last_error LIKE '%web WeChat%'").fetchone()[0]
    )
    with app.db.conn:
        app.db.execute("UPDATE outbox SET not_before=NULL WHERE state='pending'")
    app.deliverer.kick()
    await until(lambda: "📝 #1 李强：网络抖动时的备注" in bot.group.sent)
    assert bot.group.sent.count("📝 #1 李强：网络抖动时的备注") == 1


def test_missing_group_and_missing_wxpy_are_clear_errors(config_dir, tmp_path):
    cfg = load_config(config_dir / "example.toml")
    with pytest.raises(SettingsError) as e:
        WxpyPlatform(cfg, settings=make_settings(tmp_path))
    assert "YUQING_WXPY_GROUP" in e.value.render()
    try:
        import wxpy  # noqa: F401  (only its absence is tested)
    except ImportError:
        from bot.platforms.wxpy import _login

        with pytest.raises(SettingsError) as e:
            _login(tmp_path / "wxpy.pkl")
        assert "pip install 'yuqing-bot[wxpy]'" in e.value.render()


async def test_a_group_that_is_not_in_the_contacts(config_dir, tmp_path):
    settings = make_settings(tmp_path, wxpy_group="不存在的群")
    platform = WxpyPlatform(load_config(config_dir / "example.toml"), settings=settings, login=lambda c: StandInBot())
    with pytest.raises(SettingsError) as e:
        await platform.open(object())
    assert "找不到名为「不存在的群」的群" in e.value.render()
