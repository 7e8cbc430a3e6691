import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import error
// the base name alone, joined with its extension below
const BASE = 'ort-wasm-simd-threaded.jsep'; // ortfix-expect: jsep-asset error
export const note = 'ort-wasm-simd-threaded.jsep is what 1.22 shipped';
ort.env.wasm.wasmPaths = { wasm: `/wasm/${BASE}.wasm`, mjs: '/wasm/' + BASE + '.mjs' };
export const open = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });
