import { removeBackground } from '@imgly/background-removal';
import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import error
export const cut = (img) => removeBackground(img, { device: 'gpu' });
export const s = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });
