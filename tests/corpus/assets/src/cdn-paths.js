import { env } from 'onnxruntime-web'; // ortfix-expect: jsep-import error
env.wasm.wasmPaths = 'https://cdn.jsdelivr.net/npm/onnxruntime-web@1.22.0/dist/'; // ortfix-expect: jsep-asset error
const settings = { wasmPaths: 'https://cdn.jsdelivr.net/npm/onnxruntime-web@1.30.0/dist/' };
export { settings };
