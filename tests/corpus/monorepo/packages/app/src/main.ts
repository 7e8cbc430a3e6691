import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import error
export const s = (m: string) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });
