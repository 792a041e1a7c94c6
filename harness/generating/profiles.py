"""Entry shapes for the generator: what a session entry looks like in each profile.

`realistic` follows the gateway's entries (docs/store-behaviour.md, "The file"): routing
fields, token counters, and the two blobs copied into every entry, `skillsSnapshot` and
`systemPromptReport`. `pr` is the fix's own stress shape (docs/store-behaviour.md, "The fix's
stress shape"): `session:<i>` with a `displayName` padded by 2,048 `x`. Every profile can also
build one entry whose serialized line has an exact byte cost, any cost from its
`min_filler_bytes` up, which is how the generator lands on its target size.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from session_store_harness.errors import HarnessError

Entry = dict[str, Any]
Group = list[tuple[str, Entry]]

KB = 1024
# 2026-01-01T00:00:00Z: a fixed epoch keeps generated files byte-identical across days.
EPOCH_MS = 1_767_225_600_000
PROMPT_CAP_CHARS = 30_000  # the gateway caps skillsSnapshot.prompt at 30,000 characters
PROMPT_OPEN, PROMPT_CLOSE = "<available_skills> ", "</available_skills>"

CHANNELS = ("telegram", "discord", "slack", "whatsapp", "signal")
SKILLS = ("github", "weather", "calendar", "notion", "spotify", "summarize", "coding-agent",
          "browser", "image-gen", "voice-call", "himalaya", "obsidian", "trello", "gog",
          "1password", "apple-notes", "bear-notes", "blogwatcher", "camsnap", "clawhub",
          "discord", "eightctl", "gemini", "healthcheck", "mcporter", "model-usage",
          "nano-pdf", "openai-whisper", "oracle", "ordercli", "peekaboo", "sag", "session-logs",
          "sherpa-onnx-tts", "skill-creator", "slack", "songsee", "sonoscli", "tmux",
          "video-frames")
TOOLS = ("read", "write", "edit", "exec", "process", "browser", "canvas", "nodes", "cron",
         "message", "tts", "gateway", "agents_list", "sessions_list", "sessions_history",
         "sessions_send", "sessions_spawn", "session_status", "web_search", "web_fetch",
         "image", "memory_search", "memory_get", "apply_patch", "subagents")
WORKSPACE_FILES = ("AGENTS.md", "SOUL.md", "TOOLS.md", "IDENTITY.md", "USER.md",
                   "HEARTBEAT.md", "BOOTSTRAP.md")
WORDS = ("use", "this", "skill", "when", "the", "user", "asks", "to", "check", "create",
         "list", "search", "update", "send", "read", "files", "via", "api", "cli", "and")


def entry_line(key: str, entry: Entry) -> str:
    """One `"key": {...}` member as the gateway writes it inside the top-level object."""
    body = json.dumps(entry, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    return f"  {json.dumps(key, ensure_ascii=False)}: {body}"


def entry_cost(key: str, entry: Entry) -> int:
    """Bytes a member adds to the file, counting its `,\\n` separator."""
    return len(entry_line(key, entry).encode("utf-8")) + 2


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class PrProfile:
    """The fix's stress shape: about 2.2 KB entries keyed `session:<i>`."""

    name = "pr"
    padding_chars = 2048

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.index = 0
        self.bare_bytes = entry_cost("session:0", self._entry(0, 0))

    @property
    def min_filler_bytes(self) -> int:
        """The smallest filler at the next index: its digits are written three times (key,
        `label`, `displayName`), so a bare entry grows 3 bytes a digit. The 16 bytes of slack
        cover indexes up to six digits, which keeps stores under about 2 GB as they were."""
        return self.bare_bytes + max(16, 3 * (len(str(self.index)) - 1))

    def _entry(self, index: int, padding: int) -> Entry:
        return {"sessionId": _uuid(self.rng), "updatedAt": EPOCH_MS + index * 1000,
                "label": f"session {index}", "displayName": f"Session {index} " + "x" * padding}

    def groups(self) -> Iterator[Group]:
        while True:
            yield [self.single()]

    def single(self) -> tuple[str, Entry]:
        index, self.index = self.index, self.index + 1
        return f"session:{index}", self._entry(index, self.padding_chars)

    def filler(self, cost_bytes: int) -> tuple[str, Entry]:
        index, self.index = self.index, self.index + 1
        key, state = f"session:{index}", self.rng.getstate()
        bare = entry_cost(key, self._entry(index, 0))
        self.rng.setstate(state)  # same uuid in the padded build as in the measured one
        return key, self._entry(index, cost_bytes - bare)


class RealisticProfile:
    """An OpenClaw-like agent: main session, chats, threads, cron jobs and runs, subagents."""

    name = "realistic"
    kinds = ("direct", "group", "thread", "cron", "subagent")
    weights = (35, 15, 10, 25, 15)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.skill_blocks = [self._skill_block(name) for name in SKILLS]
        self.min_filler_bytes = max(self._sized_cost_floor(), self._sized_cost_ceiling())

    # -- groups of keys, in the order the gateway would have added them
    def groups(self) -> Iterator[Group]:
        yield self._main_group()
        while True:
            kind = self.rng.choices(self.kinds, self.weights)[0]
            yield getattr(self, f"_{kind}_group")()

    def single(self) -> tuple[str, Entry]:
        return self._direct_group()[0]

    def filler(self, cost_bytes: int) -> tuple[str, Entry]:
        channel, peer = self.rng.choice(CHANNELS), self.rng.getrandbits(40)
        key = f"agent:main:{channel}:direct:{peer}"
        return key, self._sized(key, cost_bytes, "direct", channel, str(peer))

    def _main_group(self) -> Group:
        key = "agent:main:main"
        entry = self._sized(key, self._draw_cost(), "direct", "telegram", "owner")
        entry["lastHeartbeatText"] = "HEARTBEAT_OK " + " ".join(self.rng.choices(WORDS, k=30))
        return [(key, entry), (key + ":heartbeat", self._routing("direct", "telegram", "owner"))]

    def _direct_group(self) -> Group:
        channel, peer = self.rng.choice(CHANNELS), self.rng.getrandbits(40)
        key = f"agent:main:{channel}:direct:{peer}"
        if self.rng.random() < 0.1:  # routing-only entries, 0.3-2 KB in the field
            return [(key, self._routing("direct", channel, str(peer)))]
        return [(key, self._sized(key, self._draw_cost(), "direct", channel, str(peer)))]

    def _group_group(self) -> Group:
        channel, group_id = self.rng.choice(CHANNELS), self.rng.getrandbits(48)
        key = f"agent:main:{channel}:group:{group_id}"
        return [(key, self._sized(key, self._draw_cost(), "group", channel, str(group_id)))]

    def _thread_group(self) -> Group:
        (base, entry), = self._group_group()
        group = [(base, entry)]
        for _ in range(self.rng.randint(1, 2)):
            key = f"{base}:thread:{self.rng.getrandbits(32)}"
            group.append((key, self._sized(key, self._draw_cost(), "group", entry["channel"],
                                           entry["lastTo"])))
        return group

    def _cron_group(self) -> Group:
        job = _uuid(self.rng)
        base = f"agent:main:cron:{job}"
        runs = []
        for _ in range(self.rng.randint(1, 4)):
            entry = self._sized(base, self._draw_cost(), "direct", "cron", job)
            runs.append((f"{base}:run:{entry['sessionId']}", entry))
        # The gateway writes the latest run's full entry under the base key as well.
        return [(base, runs[-1][1]), *runs]

    def _subagent_group(self) -> Group:
        key = f"agent:main:subagent:{_uuid(self.rng)}"
        return [(key, self._sized(key, self._draw_cost(), "direct", "internal", "parent"))]

    # -- entries
    def _draw_cost(self) -> int:
        return self.rng.randint(15 * KB, 42 * KB)

    def _routing(self, chat_type: str, channel: str, peer: str) -> Entry:
        session_id = _uuid(self.rng)
        updated_at = EPOCH_MS - self.rng.randint(0, 90 * 86_400_000)
        return {
            "sessionId": session_id, "updatedAt": updated_at,
            "sessionFile": f"{session_id}.jsonl", "chatType": chat_type, "channel": channel,
            "deliveryContext": {"channel": channel, "to": peer, "accountId": "default",
                                "threadId": None},
            "origin": {"label": f"{channel} {peer}", "provider": channel, "surface": channel,
                       "chatType": chat_type, "from": peer, "to": "bot", "accountId": "default"},
            "lastChannel": channel, "lastTo": peer, "lastAccountId": "default",
            "systemSent": True, "abortedLastRun": self.rng.random() < 0.05,
        }

    def _full(self, chat_type: str, channel: str, peer: str, prompt_chars: int,
              extra_tools: int) -> Entry:
        entry = self._routing(chat_type, channel, peer)
        input_tokens, output_tokens = self.rng.randint(1, 200_000), self.rng.randint(1, 20_000)
        entry.update({
            "modelProvider": "anthropic", "model": "claude-opus-4-5",
            "inputTokens": input_tokens, "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
            "cacheRead": self.rng.randint(0, 500_000), "cacheWrite": self.rng.randint(0, 50_000),
            "contextTokens": 200_000, "compactionCount": self.rng.randint(0, 6),
            "thinkingLevel": self.rng.choice(("off", "low", "medium", "high")),
            "skillsSnapshot": {"prompt": self._prompt(prompt_chars),
                               "skills": [{"name": name} for name in SKILLS], "version": 3},
            "systemPromptReport": self._report(prompt_chars, extra_tools, entry["updatedAt"]),
        })
        return entry

    def _sized(self, key: str, cost_bytes: int, chat_type: str, channel: str,
               peer: str) -> Entry:
        """A full entry whose member costs exactly `cost_bytes` bytes in the file.

        The prompt's length is written twice, as the prompt and as `promptChars`, so where that
        count gains a digit (9 to 10, 99 to 100, ...) the entry grows by two bytes and one cost
        is out of the prompt's reach. Flipping `abortedLastRun` (`true` is a byte shorter than
        `false`) moves the rest of the entry by one byte, which brings that cost back in reach.
        """
        shape = (chat_type, channel, peer)
        state = self.rng.getstate()
        for flipped in (False, True):  # unflipped first: entries that fit stay as they were
            entry = self._fit(key, cost_bytes, shape, state, flipped)
            if entry is not None:
                return entry
        raise HarnessError(f"internal error: cannot size a {self.name!r} entry to "
                           f"{cost_bytes} bytes; please report the seed and size")

    def _fit(self, key: str, cost_bytes: int, shape: tuple[str, str, str],
             state: tuple[Any, ...], flipped: bool) -> Entry | None:
        prompt_chars, extra_tools = 0, 0
        for _ in range(8):  # converges in two or three rounds; counters change digit counts
            self.rng.setstate(state)
            entry = self._full(*shape, prompt_chars, extra_tools)
            if flipped:
                entry["abortedLastRun"] = not entry["abortedLastRun"]
            missing = cost_bytes - entry_cost(key, entry)
            if missing == 0:
                return entry
            prompt_chars += missing
            if prompt_chars > PROMPT_CAP_CHARS:  # past the cap, bytes go to tool entries
                extra_tools += 1 + (prompt_chars - PROMPT_CAP_CHARS) // 90
                prompt_chars = PROMPT_CAP_CHARS
        return None

    def _sized_cost_floor(self) -> int:
        """The filler's reserve as first written: one measured entry plus 102 bytes of slack."""
        state = self.rng.getstate()
        floor = entry_cost("agent:main:telegram:direct:" + "9" * 13,
                           self._full("direct", "telegram", "9" * 13, 0, 0))
        self.rng.setstate(state)
        return floor + len(PROMPT_OPEN) + len(PROMPT_CLOSE) + 64

    def _sized_cost_ceiling(self) -> int:
        """The widest entry the filler can start from, with an empty prompt and no extra tools.

        The floor above measures random draws, so an entry of wider draws could in principle
        exceed it; this bound holds for every draw. It sits below the floor for every seed
        tried, so taking the larger of the two leaves existing stores byte-identical.
        """
        rng, self.rng = self.rng, _WidestDraws(0)
        try:
            return entry_cost("agent:main:telegram:direct:" + "9" * 13,
                              self._full("direct", "telegram", "9" * 13, 0, 0))
        finally:
            self.rng = rng

    def _skill_block(self, name: str) -> str:
        description = " ".join(self.rng.choices(WORDS, k=self.rng.randint(20, 60)))
        # No newlines: JSON escapes them as two bytes, which would break exact sizing.
        return (f"<skill><name>{name}</name><description>{description}</description>"
                f"<location>~/.openclaw/skills/{name}/SKILL.md</location></skill> ")

    def _prompt(self, chars: int) -> str:
        """An `<available_skills>` list of exactly `chars` characters (0 means empty)."""
        if chars < len(PROMPT_OPEN) + len(PROMPT_CLOSE):
            return "." * max(0, chars)
        budget = chars - len(PROMPT_OPEN) - len(PROMPT_CLOSE)
        parts, used, index = [PROMPT_OPEN], 0, 0
        while budget - used > 0:
            block = self.skill_blocks[index % len(self.skill_blocks)]
            index += 1
            if len(block) > budget - used:
                block = "." * (budget - used)
            parts.append(block)
            used += len(block)
        parts.append(PROMPT_CLOSE)
        return "".join(parts)

    def _report(self, prompt_chars: int, extra_tools: int, generated_at: int) -> Entry:
        rng = self.rng
        tools = [*TOOLS, *(f"mcp_tool_{i}" for i in range(extra_tools))]
        return {
            "source": "run", "generatedAt": generated_at, "sessionKey": None,
            "provider": "anthropic", "model": "claude-opus-4-5",
            "workspaceDir": "/home/agent/.openclaw/workspace",
            "bootstrapMaxChars": 20_000,
            "systemPrompt": {"chars": rng.randint(20_000, 60_000),
                             "projectContextChars": rng.randint(5_000, 20_000),
                             "nonProjectContextChars": rng.randint(10_000, 40_000)},
            "injectedWorkspaceFiles": [
                {"name": name, "path": f"/home/agent/.openclaw/workspace/{name}",
                 "missing": False, "rawChars": (raw := rng.randint(200, 9_000)),
                 "injectedChars": raw, "truncated": False}
                for name in WORKSPACE_FILES],
            "skills": {"promptChars": prompt_chars,
                       "entries": [{"name": name, "blockChars": rng.randint(150, 900)}
                                   for name in SKILLS]},
            "tools": {"listChars": rng.randint(1_000, 4_000),
                      "schemaChars": rng.randint(10_000, 40_000),
                      "entries": [{"name": name, "summaryChars": rng.randint(20, 300),
                                   "schemaChars": rng.randint(100, 3_000),
                                   "propertiesCount": rng.randint(0, 12)} for name in tools]},
        }


class _WidestDraws(random.Random):
    """Draws that print widest: the top of every range, the longest choice, and no aborted
    run (`false` is longer than `true`). Lengths of the uuids it makes do not vary."""

    def randint(self, a: int, b: int) -> int:
        return b

    def random(self) -> float:
        return 0.5

    def choice(self, seq: Sequence[Any]) -> Any:
        return max(seq, key=len)


PROFILES = {profile.name: profile for profile in (RealisticProfile, PrProfile)}
