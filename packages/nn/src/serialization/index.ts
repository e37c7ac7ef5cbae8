/** Serialization: the safetensors format (bytes in, bytes out; the Node file helpers are in `../node.ts`). */
export { saveSafetensors, saveSafetensorsSync, loadSafetensors, readSafetensorsHeader } from './safetensors.js';
export type {
  SafetensorsMetadata,
  SaveSafetensorsOptions,
  LoadSafetensorsOptions,
  SafetensorsEntry,
  SafetensorsHeader,
  TensorDict,
} from './safetensors.js';
