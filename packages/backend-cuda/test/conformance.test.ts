/**
 * The whole conformance kit through the `cuda-host` build: the shipped kernel sources and addon
 * code, compiled for the host, with CUDA's grid/blocks/threads/barriers emulated by fibers.
 */
import { registerCudaHostBackend } from '@ghostflow/backend-cuda';
import { runConformance } from '@ghostflow/backend-conformance';

registerCudaHostBackend();
runConformance({ backend: 'cuda-host' });
