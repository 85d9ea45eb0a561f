// The core's log: one JSON object per line on stdout (journald and log shippers read it as is).
// Every line has `ts` and `event`; a request line is written by front.ts when the answer ends.
export interface CoreLog {
  write(fields: { event: string; [key: string]: unknown }): void;
}

export function jsonLog(stream: NodeJS.WritableStream = process.stdout): CoreLog {
  return {
    write(fields) {
      stream.write(JSON.stringify({ ts: new Date().toISOString(), ...fields }) + "\n");
    },
  };
}
