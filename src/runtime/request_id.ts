const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Request ids: the client's `x-request-id` when it is sane, else a short unique one. */
export function createRequestIds(): (incoming: string | null) => string {
  const boot = Math.random().toString(36).slice(2, 10);
  let seq = 0;
  return (incoming) => (incoming !== null && VALID.test(incoming) ? incoming : `${boot}-${(seq++).toString(36)}`);
}
