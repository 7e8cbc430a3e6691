import * as ort from 'onnxruntime-web/webgpu';
export const open = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });
