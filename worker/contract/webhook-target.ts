// Whether a webhook URL may be called in production: never one that names or resolves to a
// loopback, private, link-local or otherwise non-public address (a vendor's webhook must not turn
// the edge into a probe of the network it runs in — which matters most for the self-hosted core).
// Checked when the URL is set (PUT …/alerts) and again before every delivery, since DNS answers
// change. Names are resolved over DNS-over-HTTPS (workerd has no resolver API); a name that cannot
// be resolved is refused too. The check and the fetch resolve separately, so a name that flips
// between them (DNS rebinding) is not caught here: on Cloudflare, Workers cannot reach private
// networks anyway; a self-hosted core should also firewall its egress.

/** A name's A and AAAA answers; throws when they cannot be had. */
export type Resolve = (host: string) => Promise<string[]>;

const DOH = "https://cloudflare-dns.com/dns-query";

export const dohResolve: Resolve = async (host) => {
  const answers: string[] = [];
  for (const type of ["A", "AAAA"]) {
    const res = await fetch(`${DOH}?name=${encodeURIComponent(host)}&type=${type}`, { headers: { accept: "application/dns-json" } });
    if (!res.ok) throw new Error(`DNS over HTTPS answered HTTP ${res.status}`);
    const body = await res.json() as { Status: number; Answer?: Array<{ type: number; data: string }> };
    if (body.Status !== 0 && body.Status !== 3) throw new Error(`DNS answered status ${body.Status}`);
    for (const a of body.Answer ?? []) if (a.type === 1 || a.type === 28) answers.push(a.data);
  }
  return answers;
};

/** Why the URL must not be called, or null when it may. */
export async function webhookTargetRefusal(url: string, resolve: Resolve): Promise<string | null> {
  let host = new URL(url).hostname.toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (parseIpv4(host) || host.includes(":")) return isNonPublicAddress(host) ? `${host} is not a public address` : null;
  if (host === "localhost" || host.endsWith(".localhost")) return `${host} is a loopback name`;
  if (!host.includes(".")) return `${host} is not a public DNS name`;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    return `${host} could not be resolved (${error instanceof Error ? error.message : String(error)})`;
  }
  if (addresses.length === 0) return `${host} does not resolve`;
  const bad = addresses.find(isNonPublicAddress);
  return bad === undefined ? null : `${host} resolves to ${bad}, not a public address`;
}

/** Loopback, private, link-local, CGNAT, multicast, reserved, documentation or unspecified. */
export function isNonPublicAddress(ip: string): boolean {
  const v4 = parseIpv4(ip);
  if (v4) return nonPublicIpv4(v4);
  const v6 = parseIpv6(ip);
  if (!v6) return true; // not an address we can judge: refuse
  const [a, b] = v6;
  const mappedV4 = v6.slice(0, 5).every((x) => x === 0) && v6[5] === 0xffff;
  const nat64 = a === 0x64 && b === 0xff9b && v6.slice(2, 6).every((x) => x === 0);
  if (mappedV4 || nat64) return nonPublicIpv4([v6[6]! >> 8, v6[6]! & 255, v6[7]! >> 8, v6[7]! & 255]);
  if (v6.slice(0, 7).every((x) => x === 0)) return v6[7] === 0 || v6[7] === 1; // :: and ::1
  return (a! & 0xfe00) === 0xfc00 // fc00::/7 unique local
    || (a! & 0xffc0) === 0xfe80 // fe80::/10 link-local
    || (a! & 0xffc0) === 0xfec0 // fec0::/10 site-local (deprecated)
    || (a! & 0xff00) === 0xff00 // multicast
    || (a === 0x2001 && b === 0x0db8) // documentation
    || v6.slice(0, 6).every((x) => x === 0); // ::a.b.c.d (deprecated IPv4-compatible)
}

function nonPublicIpv4([a, b, c]: number[]): boolean {
  return a === 0 || a === 10 || a === 127 || a! >= 224
    || (a === 100 && b! >= 64 && b! < 128) // CGNAT
    || (a === 169 && b === 254)
    || (a === 172 && b! >= 16 && b! < 32)
    || (a === 192 && b === 168)
    || (a === 192 && b === 0 && (c === 0 || c === 2))
    || (a === 198 && (b === 18 || b === 19))
    || (a === 198 && b === 51 && c === 100)
    || (a === 203 && b === 0 && c === 113);
}

function parseIpv4(s: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

function parseIpv6(s: string): number[] | undefined {
  let text = s.split("%")[0]!;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    // An embedded IPv4 address (::ffff:1.2.3.4) is the last two groups.
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith("::")) text = text.slice(0, -1);
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]!), rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const missing = 8 - tail.length - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const zeros = Array<number>(halves.length === 2 ? missing : 0).fill(0);
  return [...head.map((g) => parseInt(g, 16)), ...zeros, ...rest.map((g) => parseInt(g, 16)), ...tail];
}
