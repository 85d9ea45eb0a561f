// `Authorization: Bearer <token>` → the token.
export function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer ([!-~]{1,512})$/.exec(header) : null;
  return match?.[1];
}
