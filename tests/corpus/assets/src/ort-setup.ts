import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import error

ort.env.wasm.wasmPaths = {
  wasm: '/wasm/ort-wasm-simd-threaded.jsep.wasm', // ortfix-expect: jsep-asset error
  mjs: "/wasm/ort-wasm-simd-threaded.jsep.mjs", // ortfix-expect: jsep-asset error
};
// the old build shipped ort-wasm-simd-threaded.jsep.wasm next to index.html
ort.env.webgpu.powerPreference = 'high-performance'; // ortfix-expect: native-ignored-flag info
const adapter = ort.env.webgpu.adapter; // ortfix-expect: native-ignored-flag info
ort.env.webgpu.profiling = { mode: 'default' }; // ortfix-expect: native-ignored-flag info
ort.env.wasm.wasmBinary = await (await fetch(`${base}/ort-wasm-simd-threaded.jsep.wasm`)).arrayBuffer(); // ortfix-expect: jsep-asset error
export const open = (m: string) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });
export { adapter };
