/** TEMPORARY scaffolding while the op library is being written; must be gone before landing. */
export function notImplemented(name: string): never {
  throw new Error(`${name} is not implemented yet`);
}
