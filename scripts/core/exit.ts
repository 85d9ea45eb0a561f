// How a core command ends on purpose: an exit status and a one-line reason for stderr.
//   0 done · 1 failed while running · 2 refused (usage, secrets, lock held, data from a newer Tally)
export class CoreExit extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}
