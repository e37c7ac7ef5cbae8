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
// Checkpoints as bytes (any platform); the file helpers saveCheckpoint/loadCheckpoint are in '@ghostflow/nn/node'.
export { encodeCheckpoint, decodeCheckpoint } from './checkpoint.js';
export type { CheckpointParts, CheckpointTargets, RestoredCheckpoint } from './checkpoint.js';
