import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import info
ort.env.wasm.wasmPaths = { wasm: '/ort-wasm-simd-threaded.jsep.wasm' }; // ortfix-expect: jsep-asset info
export const s = (m) => ort.InferenceSession.create(m);
