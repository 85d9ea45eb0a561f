// Idempotent answers are kept sealed (AES-256-GCM) under a key derived (HKDF-SHA-256) from the
// edge's secret and the client's Idempotency-Key, which D1 stores only hashed. Some answers carry
// a secret exactly once (API keys, enrollment, collector and status-link tokens): sealing lets a
// retry with the same key get the same answer while D1 alone never reveals the secret.
const INFO = new TextEncoder().encode("tally/idempotent-answer/v1");
const IV_BYTES = 12;

async function answerKey(edgeSecret: string, idempotencyKey: string, scope: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(`${edgeSecret}\n${idempotencyKey}`), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode(scope), info: INFO },
    base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"],
  );
}

export async function sealAnswer(edgeSecret: string, idempotencyKey: string, scope: string, answer: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await answerKey(edgeSecret, idempotencyKey, scope), new TextEncoder().encode(answer)));
  const out = new Uint8Array(IV_BYTES + sealed.byteLength);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return toBase64(out);
}

/** The answer, or undefined when it cannot be opened (e.g. the edge secret was rotated). */
export async function openAnswer(edgeSecret: string, idempotencyKey: string, scope: string, stored: string): Promise<string | undefined> {
  try {
    const bytes = fromBase64(stored);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, IV_BYTES) }, await answerKey(edgeSecret, idempotencyKey, scope), bytes.slice(IV_BYTES));
    return new TextDecoder().decode(plain);
  } catch {
    return undefined;
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  // In chunks: String.fromCharCode(...all) overflows the stack on large answers.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}
