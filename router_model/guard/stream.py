"""The output filter: a streamed answer in, text that is safe to send out, chunk by chunk.

No PII span, secret or blocked phrase may reach the client, even when it arrives split
over several chunks, and each chunk costs bounded work (never a rescan of the whole
answer so far):

- text is held back until it is final: the last ``hold_back`` characters (longer than
  the longest multi-word pattern: a spaced card or IBAN, a phone with an extension, a
  blocked phrase) AND the unfinished last word (secrets and most identifiers have no
  spaces, so a word is never cut; a word longer than ``max_word`` is released);
- each ``feed`` scans only ``context`` already-sent characters (look-behind context) +
  the held-back text + the new chunk, with the same rules as the input check
  (``rules.find_pii``, ``secrets.find_secrets``), except the free-form rules (dates,
  places) whose types the policy does not redact (``rules.rules_for``);
- spans that end before the release point are redacted (typed placeholders) or, when
  the policy's action for their category is ``block``, stop the stream; a blocked phrase
  (case-insensitive) anywhere stops it; nothing after the stop is released;
- a PEM private key is held from its ``-----BEGIN ... PRIVATE KEY-----`` line to its
  END line and released as one ``[PRIVATE_KEY]``.

The learned scorers (and so free-form names) are not run per chunk; the non-streamed
answer is checked by the full ``Guard``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from router_model.guard.policy import GuardPolicy
from router_model.guard.redact import redact
from router_model.guard.rules import LONGEST_MATCH, find_pii
from router_model.guard.runtime import category_of
from router_model.guard.secrets import find_secrets
from router_model.guard.spans import Span, resolve

HOLD_BACK = 2 * LONGEST_MATCH
CONTEXT = 64
MAX_WORD = 2048
_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----")


@dataclass
class FilterResult:
    """What to send now; ``stopped`` means send nothing more (``reason`` says why)."""

    text: str
    stopped: bool = False
    reason: str = ""


@dataclass
class OutputFilter:
    """One answer's filter (not shared between streams). See module docstring."""

    policy: GuardPolicy
    blocked: Iterable[str] = ()
    hold_back: int = HOLD_BACK
    context: int = CONTEXT
    max_word: int = MAX_WORD
    entities: dict[str, int] = field(default_factory=dict)
    micros: float = 0.0
    chunks: int = 0
    stopped: bool = False
    reason: str = ""
    _pending: str = ""
    _ctx: str = ""
    _in_pem: bool = False

    def __post_init__(self) -> None:
        phrases = sorted({p.casefold() for p in self.blocked if p}, key=len, reverse=True)
        self._blocked = re.compile("|".join(map(re.escape, phrases)), re.IGNORECASE) \
            if phrases else None
        self.hold_back = max(self.hold_back, max((len(p) for p in phrases), default=0))
        self._rules = self.policy.rules

    def feed(self, chunk: str) -> FilterResult:
        """Add one chunk; returns the text that is now safe to send."""
        t0 = time.perf_counter_ns()
        self.chunks += 1
        if self.stopped:
            return FilterResult("", True, self.reason)
        self._pending += chunk
        out = self._release(final=False)
        self.micros += (time.perf_counter_ns() - t0) / 1e3
        return out

    def finish(self) -> FilterResult:
        """End of the answer: release what is held (filtered)."""
        t0 = time.perf_counter_ns()
        out = FilterResult("", True, self.reason) if self.stopped else self._release(final=True)
        self.micros += (time.perf_counter_ns() - t0) / 1e3
        return out

    def _stop(self, reason: str) -> FilterResult:
        self.stopped, self.reason, self._pending = True, reason, ""
        return FilterResult("", True, reason)

    def _cut(self, final: bool) -> int:
        """Release point in ``_pending``: before the hold-back and the unfinished word."""
        if final:
            return len(self._pending)
        cut = len(self._pending) - self.hold_back
        while cut > 0 and not self._pending[cut - 1].isspace() \
                and len(self._pending) - cut < self.max_word:
            cut -= 1
        return max(cut, 0)

    def _release(self, final: bool) -> FilterResult:
        if self._in_pem:
            return self._pem(final)
        if self._blocked is not None and self._blocked.search(self._pending):
            return self._stop("blocked_text")
        begin = _PEM_BEGIN.search(self._pending)
        if begin is not None:
            head = self._emit(self._pending[:begin.start()], len(self._pending[:begin.start()]))
            if head.stopped:
                return head
            self._in_pem, self._pending = True, self._pending[begin.start():]
            tail = self._pem(final)
            return FilterResult(head.text + tail.text, tail.stopped, tail.reason)
        return self._emit(self._pending, self._cut(final))

    def _pem(self, final: bool) -> FilterResult:
        end = _PEM_END.search(self._pending)
        if end is None and not final:
            self._pending = self._pending[-MAX_WORD:]  # never released; keep what END needs
            return FilterResult("")
        self.entities["PRIVATE_KEY"] = self.entities.get("PRIVATE_KEY", 0) + 1
        if self.policy.action("secret") == "block":
            return self._stop("secret:block")
        rest = self._pending[end.end():] if end is not None else ""
        self._in_pem, self._pending, self._ctx = False, rest, ""
        more = self._release(final) if rest else FilterResult("")
        return FilterResult("[PRIVATE_KEY]" + more.text, more.stopped, more.reason)

    def _spans(self, text: str) -> list[Span]:
        found = [*find_pii(text, self._rules), *find_secrets(text)]
        return resolve(found) if len(found) > 1 else found

    def _emit(self, pending: str, cut: int) -> FilterResult:
        """Scan context + pending; release pending[:cut] redacted, keep the rest."""
        base = len(self._ctx)
        spans = [Span(s.entity_type, max(s.start, base), s.end, s.score, s.source)
                 for s in self._spans(self._ctx + pending) if s.end > base]
        for s in spans:  # a span reaching past the cut holds the cut before it
            if s.start - base < cut < s.end - base:
                cut = s.start - base
        done = [s.shifted(-base) for s in spans if s.end - base <= cut]
        masked = []
        for s in done:
            cat = category_of(s.entity_type)
            self.entities[s.entity_type] = self.entities.get(s.entity_type, 0) + 1
            action = self.policy.action(cat)
            if action == "block":
                return self._stop(f"{cat}:block")
            if action == "redact" and (cat == "secret" or self.policy.redacts(s.entity_type)):
                masked.append(s)
        sent = pending[:cut]
        self._pending = pending[cut:]
        self._ctx = (self._ctx + sent)[-self.context:]
        return FilterResult(redact(sent, masked))


def filter_text(text: str, policy: GuardPolicy, blocked: Iterable[str] = ()) -> FilterResult:
    """The whole answer at once (what a stream of any split must equal)."""
    f = OutputFilter(policy, blocked)
    a = f.feed(text)
    b = f.finish()
    return FilterResult(a.text + b.text, a.stopped or b.stopped, f.reason)
