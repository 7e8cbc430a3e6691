import { pipeline } from '@huggingface/transformers';
import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import error mixed-entry warning
export const p = await pipeline('text-classification', 'm', { device: 'webgpu' });
export const t = new ort.Tensor('float32', [1], [1]);
