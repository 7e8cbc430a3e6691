import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import info
export const run = (m) => ort.InferenceSession.create(m, { executionProviders: ['wasm'] });
