import * as ort from 'onnxruntime-web/all'; // ortfix-expect: jsep-import warning
export const eps = ['webgpu', 'webgl'];
export const s = (m) => ort.InferenceSession.create(m, { executionProviders: eps });
