import * as ort from 'onnxruntime-web/webgpu';
ort.env.wasm.wasmPaths = { wasm: '/ort-wasm-simd-threaded.jsep.wasm' };
export const s = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });
