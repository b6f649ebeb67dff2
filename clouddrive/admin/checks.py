"""The doctor's report: one `Check` per line (a verdict, what was found, how to fix it),
and the verdict on clock skew (shared by doctor and anything else that reads the clock)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "CLOCK_FAIL",
    "CLOCK_WARN",
    "POLICY_FIX",
    "Check",
    "DoctorReport",
    "Verdict",
    "clock_check",
]

CLOCK_WARN = 60.0  #: seconds of skew worth a warning (history times look off)
CLOCK_FAIL = 15 * 60.0  #: S3 refuses requests signed further off than this
POLICY_FIX = "attach the user policy printed by 'clouddrive lifecycle policy' to your IAM user"


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One line of the report: a verdict, what was found, and how to fix it."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""
    required: bool = True  #: sync depends on it: a failure makes doctor exit non-zero
    command: str = ""  #: the exact shell command that fixes it, to paste as it is

    @property
    def fix_line(self) -> str:
        """The fix as a person reads it: the advice, then the command (last, whole)."""
        if self.command:
            return f"{self.fix}: {self.command}" if self.fix else self.command
        return self.fix


@dataclass
class DoctorReport:
    drive: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        """The failed checks that sync depends on."""
        return [c for c in self.checks if c.verdict is Verdict.FAIL and c.required]

    @property
    def ok(self) -> bool:
        return not self.failed

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def as_json(self) -> dict[str, Any]:
        return {
            "drive": self.drive,
            "ok": self.ok,
            "checks": [{**asdict(c), "verdict": c.verdict.value} for c in self.checks],
        }


def clock_check(skew: float | None) -> Check:
    """The verdict on a clock `skew` seconds behind the server (None: no Date header)."""
    if skew is None:
        return Check("clock", Verdict.SKIP, "the server sent no Date header", required=False)
    text = f"this machine's clock is {abs(skew):.0f} s {'behind' if skew > 0 else 'ahead of'} "
    text += "the server's"
    fix = "synchronise this machine's clock (NTP, e.g. 'timedatectl set-ntp true')"
    if abs(skew) > CLOCK_FAIL:
        return Check(
            "clock", Verdict.FAIL, text + ": S3 refuses requests signed 15 minutes off", fix
        )
    if abs(skew) > CLOCK_WARN:
        return Check(
            "clock",
            Verdict.WARN,
            text + ": times in history and 'recoverable until' will look off",
            fix,
            required=False,
        )
    offset = f"{round(skew):+d} s" if round(skew) else "0 s"
    return Check("clock", Verdict.OK, f"within {CLOCK_WARN:.0f} s of the server's ({offset})")
