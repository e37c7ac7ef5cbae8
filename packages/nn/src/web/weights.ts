/**
 * Weights in the browser, on top of the safetensors bytes: IndexedDB, a file download, and
 * a URL fetched with progress. Nothing here is imported before it is called, so the module
 * loads anywhere (Node included); each function checks for the browser API it needs and
 * says which one is missing.
 */
import { GhostFlowError, type Tensor } from '@ghostflow/core';
import type { Module } from '../module.js';
import { dictOf } from '../serialization/dict-of.js';
import { describe } from '../serialization/header.js';
import {
  type LoadSafetensorsOptions,
  type SaveSafetensorsOptions,
  type TensorDict,
  loadSafetensors,
  saveSafetensors,
} from '../serialization/safetensors.js';

/** Where weights live in IndexedDB: one object store in one database, records keyed by name. */
export interface IndexedDBLocation {
  /** Database name (default `'ghostflow'`). */
  database?: string;
  /** Object store name (default `'weights'`). */
  store?: string;
}

/** Options for {@link saveToIndexedDB}. */
export interface SaveToIndexedDBOptions extends IndexedDBLocation, SaveSafetensorsOptions {}

/** Options for {@link loadFromIndexedDB}. */
export interface LoadFromIndexedDBOptions extends IndexedDBLocation, LoadSafetensorsOptions {}

const DEFAULT_DB = 'ghostflow';
const DEFAULT_STORE = 'weights';

function need<T>(what: string, value: T | undefined, hint: string): T {
  if (value === undefined || value === null) {
    throw new GhostFlowError(`${what}: expected a browser with ${hint}, got none in this environment`);
  }
  return value;
}

function checkKey(key: unknown, what: string): string {
  if (typeof key === 'string' && key.length > 0) return key;
  throw new GhostFlowError(`${what}: expected a non-empty string key, got ${describe(key)}`);
}

function request<T>(req: IDBRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new GhostFlowError(`${what}: IndexedDB request failed: ${req.error?.message ?? 'unknown error'}`));
  });
}

/** Opens (creating when needed) the database with the store in it. */
async function openStore(location: IndexedDBLocation, mode: IDBTransactionMode, what: string): Promise<[IDBDatabase, IDBObjectStore]> {
  const idb = need(what, (globalThis as { indexedDB?: IDBFactory }).indexedDB, 'IndexedDB (globalThis.indexedDB)');
  const dbName = location.database ?? DEFAULT_DB;
  const storeName = location.store ?? DEFAULT_STORE;
  const open = (version?: number): Promise<IDBDatabase> => {
    const req = version === undefined ? idb.open(dbName) : idb.open(dbName, version);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(storeName)) req.result.createObjectStore(storeName);
    };
    return request(req, what);
  };
  let db = await open();
  if (!db.objectStoreNames.contains(storeName)) {
    // The database exists without this store: a version bump is the only way to add one.
    const next = db.version + 1;
    db.close();
    db = await open(next);
  }
  return [db, db.transaction(storeName, mode).objectStore(storeName)];
}

/**
 * Saves a module's state dict (or tensors by name) to IndexedDB as safetensors bytes under
 * `key`, replacing what was there. Resolves with the number of bytes stored.
 * @example
 * ```ts
 * import { Linear } from '@ghostflow/nn';
 * import { saveToIndexedDB, loadFromIndexedDB } from '@ghostflow/nn/browser';
 * const model = new Linear(4, 1);
 * await saveToIndexedDB('char-gru', model);
 * model.loadStateDict(await loadFromIndexedDB('char-gru'));
 * ```
 */
export async function saveToIndexedDB(key: string, what: Module | TensorDict, options: SaveToIndexedDBOptions = {}): Promise<number> {
  checkKey(key, 'saveToIndexedDB');
  const bytes = await saveSafetensors(dictOf(what), options);
  const [db, store] = await openStore(options, 'readwrite', 'saveToIndexedDB');
  try {
    // A standalone ArrayBuffer: structured clone then copies exactly the file's bytes.
    await request(store.put(bytes.slice().buffer, key), 'saveToIndexedDB');
    await new Promise<void>((resolve, reject) => {
      store.transaction.oncomplete = () => resolve();
      store.transaction.onerror = () =>
        reject(new GhostFlowError(`saveToIndexedDB: transaction failed: ${store.transaction.error?.message}`));
      store.transaction.onabort = () =>
        reject(new GhostFlowError(`saveToIndexedDB: transaction aborted (${store.transaction.error?.message ?? 'quota exceeded?'})`));
    });
  } finally {
    db.close();
  }
  return bytes.byteLength;
}

/**
 * Loads tensors saved by {@link saveToIndexedDB} (a null-prototype object by name; pass it
 * to `module.loadStateDict`). A missing key is a GhostFlowError naming the key and the
 * keys that are there.
 */
export async function loadFromIndexedDB(key: string, options: LoadFromIndexedDBOptions = {}): Promise<Record<string, Tensor>> {
  checkKey(key, 'loadFromIndexedDB');
  const [db, store] = await openStore(options, 'readonly', 'loadFromIndexedDB');
  try {
    const value = await request(store.get(key), 'loadFromIndexedDB');
    if (value === undefined) {
      const keys = await request(store.getAllKeys(), 'loadFromIndexedDB');
      throw new GhostFlowError(
        `loadFromIndexedDB: expected weights under '${key}' in ${options.database ?? DEFAULT_DB}/${options.store ?? DEFAULT_STORE}, got none (stored: ${keys.map(String).join(', ') || 'nothing'})`,
      );
    }
    if (!(value instanceof ArrayBuffer)) {
      throw new GhostFlowError(`loadFromIndexedDB: expected safetensors bytes (an ArrayBuffer) under '${key}', got ${describe(value)}`);
    }
    return loadSafetensors(value, { device: options.device, names: options.names });
  } finally {
    db.close();
  }
}

/** Keys of the weights stored in IndexedDB (in key order). */
export async function listIndexedDB(location: IndexedDBLocation = {}): Promise<string[]> {
  const [db, store] = await openStore(location, 'readonly', 'listIndexedDB');
  try {
    return (await request(store.getAllKeys(), 'listIndexedDB')).map(String);
  } finally {
    db.close();
  }
}

/** Deletes the weights stored under `key` (nothing happens when there are none). */
export async function deleteFromIndexedDB(key: string, location: IndexedDBLocation = {}): Promise<void> {
  checkKey(key, 'deleteFromIndexedDB');
  const [db, store] = await openStore(location, 'readwrite', 'deleteFromIndexedDB');
  try {
    await request(store.delete(key), 'deleteFromIndexedDB');
  } finally {
    db.close();
  }
}

/**
 * Offers a module's weights (or tensors by name) to the user as a `.safetensors` file
 * download: a Blob URL clicked through a temporary anchor. Resolves with the Blob (e.g.
 * to upload it as well) once the download has been started.
 * @example
 * ```ts
 * import { Linear } from '@ghostflow/nn';
 * import { download } from '@ghostflow/nn/browser';
 * declare const button: HTMLButtonElement;
 * const model = new Linear(4, 1);
 * button.onclick = () => download('model.safetensors', model);
 * ```
 */
export async function download(filename: string, what: Module | TensorDict, options: SaveSafetensorsOptions = {}): Promise<Blob> {
  if (typeof filename !== 'string' || filename === '') {
    throw new GhostFlowError(`download: expected a file name, got ${describe(filename)}`);
  }
  const doc = need('download', (globalThis as { document?: Document }).document, 'a document (download runs in a page, not a worker)');
  const bytes = await saveSafetensors(dictOf(what), options);
  const blob = new Blob([bytes.slice().buffer], { type: 'application/octet-stream' });
  const url = URL.createObjectURL(blob);
  const a = doc.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  doc.body.appendChild(a);
  try {
    a.click();
  } finally {
    a.remove();
    // Revoked after the click has been handled: revoking at once can cancel the download.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return blob;
}

/** A progress report of {@link loadFromUrl}. */
export interface LoadProgress {
  /** Bytes received so far. */
  loaded: number;
  /** Total bytes (the response's Content-Length), or undefined when the server did not say. */
  total: number | undefined;
  /** `loaded / total` in [0, 1], or undefined without a total. */
  fraction: number | undefined;
}

/** Options for {@link loadFromUrl}. */
export interface LoadFromUrlOptions extends LoadSafetensorsOptions {
  /** Called as bytes arrive (at least once at the start and once at the end). */
  onProgress?: (progress: LoadProgress) => void;
  /** Cancels the download (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Extra `fetch` options (headers, credentials, cache...). */
  init?: RequestInit;
}

/**
 * Fetches a safetensors file and loads its tensors, reporting progress as the body streams
 * in. An HTTP error status is a GhostFlowError naming the URL and the status; a body
 * longer or shorter than its Content-Length is refused.
 * @example
 * ```ts
 * import { Linear } from '@ghostflow/nn';
 * import { loadFromUrl } from '@ghostflow/nn/browser';
 * const model = new Linear(4, 1);
 * const dict = await loadFromUrl('/weights/char-gru.safetensors', {
 *   onProgress: ({ loaded, total }) => console.log(`${loaded} / ${total ?? '?'} bytes`),
 * });
 * model.loadStateDict(dict);
 * ```
 */
export async function loadFromUrl(url: string | URL, options: LoadFromUrlOptions = {}): Promise<Record<string, Tensor>> {
  const doFetch = need('loadFromUrl', (globalThis as { fetch?: typeof fetch }).fetch, 'fetch');
  const { onProgress, signal, init } = options;
  let res: Response;
  try {
    res = await doFetch(url, { ...init, signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new GhostFlowError(`loadFromUrl: cannot fetch '${String(url)}': ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok) throw new GhostFlowError(`loadFromUrl: expected HTTP 2xx for '${String(url)}', got ${res.status} ${res.statusText}`);
  const header = res.headers.get('content-length');
  // A compressed response's Content-Length counts encoded bytes, not the ones we receive.
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const total = header !== null && !encoded && /^\d+$/.test(header) ? Number(header) : undefined;
  const report = (loaded: number) => onProgress?.({ loaded, total, fraction: total ? Math.min(1, loaded / total) : undefined });
  report(0);
  let bytes: Uint8Array;
  if (!res.body) {
    bytes = new Uint8Array(await res.arrayBuffer());
  } else {
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      if (total !== undefined && loaded > total) {
        await reader.cancel();
        throw new GhostFlowError(`loadFromUrl: expected ${total} bytes from '${String(url)}' (Content-Length), got more`);
      }
      report(loaded);
    }
    bytes = new Uint8Array(loaded);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
  }
  if (total !== undefined && bytes.byteLength !== total) {
    throw new GhostFlowError(`loadFromUrl: expected ${total} bytes from '${String(url)}' (Content-Length), got ${bytes.byteLength}`);
  }
  report(bytes.byteLength);
  return loadSafetensors(bytes, { device: options.device, names: options.names });
}
