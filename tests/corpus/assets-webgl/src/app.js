import * as ort from 'onnxruntime-web/all'; // ortfix-expect: jsep-import warning
ort.env.wasm.wasmPaths = { wasm: '/ort-wasm-simd-threaded.jsep.wasm' };
ort.env.webgpu.powerPreference = 'low-power';
export const s = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu', 'webgl'] });
