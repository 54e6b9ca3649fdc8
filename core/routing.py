"""Who hears about what: the team's group chats, people's private chats, subscribers.

Addresses are (platform, chat) pairs for the platforms the settings choose (see
`bot.app.routed_platforms`), whether or not this process opened them: the process running
a platform delivers its rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.config import Config, EscalationChain, EscalationStep, Person
from core.grades import Grade
from core.models import Role
from core.ports import Storage

__all__ = ["CONSOLE_GROUP", "Router"]

CONSOLE_GROUP = "监测群"


class Router:
    def __init__(
        self,
        config: Config,
        platforms: Sequence[str],
        db,
        defaults: dict[str, dict[str, str]] | None = None,
        *,
        store: Storage,
    ):
        """`defaults`: per platform, a team's group chat when the config names none (the
        adapter knows it, e.g. WeCom's robot for the team). `db` is handed back to `store`
        (the storage seam, `storage.SQLITE`) for registered identities and subscriptions."""
        self.config = config
        self.platforms = list(platforms)
        self.db = db
        self.people_store = store.people
        self.defaults = defaults or {}

    def group_chats(self, team_id: str | None) -> list[tuple[str, str]]:
        """The team's group chat on each platform served: (platform, chat), from the config,
        else the settings' default for the team (a WeCom robot), else the console's group."""
        team = self.config.team(team_id)
        out = []
        for p in self.platforms:
            chat = (
                team.chats.get(p)
                or self.defaults.get(p, {}).get(team.id)
                or (CONSOLE_GROUP if p == "console" else None)
            )
            if chat:
                out.append((p, str(chat)))
        return out

    def admin_chats(self, team_id: str | None) -> list[tuple[str, str]]:
        """The team's admin chats, or its group chats when it names none."""
        team = self.config.team(team_id)
        out = [(p, str(team.admin_chat[p])) for p in self.platforms if p in team.admin_chat]
        return out or self.group_chats(team_id)

    def private_chats(self, person: Person) -> list[tuple[str, str]]:
        """Where to reach a person privately on each platform served: the user registered
        with /start, else the configured handle."""
        out = []
        registered = self.people_store.identities_of(self.db, person.id)
        for p in self.platforms:
            if p == "console":
                out.append((p, "@" + person.id))
            elif p in registered:
                out.append((p, registered[p]))
            elif p in person.handles:
                out.append((p, person.handles[p]))
        return out

    def people_with_role(self, role: Role, team_id: str | None = None) -> list[Person]:
        """People with this role, in `team_id` or in no team (everyone's) when a team is given."""
        return [
            p for p in self.config.people if p.role == role.value and (team_id is None or p.team in (None, team_id))
        ]

    def subscribers(self, grade: Grade) -> list[Person]:
        """People whose subscription covers this grade."""
        subs = self.people_store.subscriptions(self.db)
        out: list[Person] = []
        for pid, min_grade in subs.items():
            person = self.config.person(pid)
            if person and grade.at_least(Grade(min_grade)):
                out.append(person)
        return out

    def step_targets(self, step: EscalationStep, team_id: str | None) -> tuple[list[Person], list[tuple[str, str]]]:
        """Who an escalation step reaches: (people to tell privately, extra group chats)."""
        people = [p for pid in step.people if (p := self.config.person(pid))]
        for role in step.roles:
            people += [p for p in self.people_with_role(Role(role)) if p not in people]
        chats = [(pl, str(c)) for pl, c in step.chats.items() if pl in self.platforms]
        if step.parent_team:
            parent = self.config.team(team_id).parent
            if parent:
                chats += self.group_chats(parent)
        return people, chats

    def facts_only_chats(self, inc_team: str | None, chain: EscalationChain) -> set[tuple[str, str]]:
        """Chats of escalation steps marked facts-only (partner departments): no internal notes."""
        out: set[tuple[str, str]] = set()
        for step in chain.steps:
            if step.facts_only:
                people, chats = self.step_targets(step, inc_team)
                out.update(chats)
                for p in people:
                    out.update(self.private_chats(p))
        return out
