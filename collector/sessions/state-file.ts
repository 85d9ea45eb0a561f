// The session tracker's and followed sources' state files: private (0600), compact JSON,
// replaced atomically through the state dir's JSON file writer.
import { readJsonFile, writeJsonFile } from "../state/json-file.ts";

export function writeStateFile(path: string, value: unknown): Promise<void> {
  return writeJsonFile(path, value, 0o600, { compact: true });
}

/** The saved value, or undefined when the file does not exist yet. */
export function readStateFile<T>(path: string): Promise<T | undefined> {
  return readJsonFile<T>(path);
}
