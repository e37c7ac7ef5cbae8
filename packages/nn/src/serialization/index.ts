/** Serialization: the safetensors format, and Node file helpers. */
export { saveSafetensors, saveSafetensorsSync, loadSafetensors, readSafetensorsHeader } from './safetensors.js';
export type {
  SafetensorsMetadata,
  SaveSafetensorsOptions,
  LoadSafetensorsOptions,
  SafetensorsEntry,
  SafetensorsHeader,
  TensorDict,
} from './safetensors.js';
export { save, load } from './node.js';
