// Test-only crash points in the ContractDO's batch apply (docs/guarantees.md "Guarantee 2 (DO
// crash points)"). Armed by an RPC call, allowed only when TALLY_ENV is "test" or "development";
// the next apply throws at the armed step, once. `before_commit` throws inside the transaction
// (everything the batch wrote must roll back); `after_commit_before_response` throws after the
// commit (the batch stays applied and the client's retry must get a replay receipt). Beside the
// batch's: `supersede_before_commit` throws inside the alarm's next step of a resolved fork's old
// branch (fork-resolution.ts), which must roll back and be redone whole.
export const CRASH_STEPS = ["before_commit", "after_commit_before_response"] as const;
export const ALARM_CRASH_STEPS = ["supersede_before_commit"] as const;
export type CrashStep = (typeof CRASH_STEPS)[number] | (typeof ALARM_CRASH_STEPS)[number];

export class InjectedCrash extends Error {
  constructor(step: CrashStep) {
    super(`injected crash at ${step}`);
    this.name = "InjectedCrash";
  }
}

export class CrashPoints {
  #armed: CrashStep | null = null;

  arm(step: CrashStep, tallyEnv: string): void {
    if (tallyEnv !== "test" && tallyEnv !== "development") throw new Error("crash points are only available in test and development");
    if (![...CRASH_STEPS, ...ALARM_CRASH_STEPS].includes(step)) throw new Error(`unknown crash step ${String(step)}`);
    this.#armed = step;
  }

  /** Throws (and disarms) when `step` is the armed one. */
  reach(step: CrashStep): void {
    if (this.#armed !== step) return;
    this.#armed = null;
    throw new InjectedCrash(step);
  }
}
