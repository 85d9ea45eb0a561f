// Vendor access for requests the Worker makes to its own API in-process (the vendor console,
// worker/console/): the console has already authenticated the vendor from its session, which
// holds only the API key's hash, so it cannot send a bearer key. It marks the Request object it
// builds instead. The mark lives in this isolate's memory, keyed by object identity, so no
// request arriving over the network can carry one.
export interface VendorGrant { vendorId: string; apiKeyId: string; readOnly: boolean }

const grants = new WeakMap<Request, VendorGrant>();

/** Marks `request` (to be passed to `app.request`) as made on behalf of the vendor's key. */
export function grantInProcess(request: Request, grant: VendorGrant): Request {
  grants.set(request, grant);
  return request;
}

export function inProcessGrant(request: Request): VendorGrant | undefined {
  return grants.get(request);
}
