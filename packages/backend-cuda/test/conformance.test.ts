/**
 * The whole conformance kit through the `cuda-host` build: the shipped kernel sources and addon
 * code, compiled for the host, with CUDA's grid/blocks/threads/barriers emulated by fibers.
 */
import { registerCudaHostBackend } from '@ghostflow/backend-cuda';
import { runConformance } from '@ghostflow/backend-conformance';

registerCudaHostBackend();
// Every kernel runs under fiber emulation of the CUDA grid here, so the leak census takes 10 steps
// per case instead of 50 (it was 9 of this file's 10 minutes in CI); the census logic is core's and
// nn's, run with 50 steps on cpu and webgpu, and device-conformance runs the default on a real GPU.
runConformance({ backend: 'cuda-host', leakCensusSteps: 10 });
