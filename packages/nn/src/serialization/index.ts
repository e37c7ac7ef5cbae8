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
export { encodeCheckpoint, decodeCheckpoint } from './checkpoint.js';
export type { CheckpointParts, CheckpointTargets, RestoredCheckpoint } from './checkpoint.js';
export { saveCheckpoint, loadCheckpoint } from './checkpoint-node.js';
