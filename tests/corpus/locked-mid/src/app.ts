import { InferenceSession } from 'onnxruntime-web'; // ortfix-expect: jsep-import error
export const open = (m: string) => InferenceSession.create(m, { executionProviders: ['webgpu'] });
