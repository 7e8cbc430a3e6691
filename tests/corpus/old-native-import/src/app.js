import * as ort from 'onnxruntime-web/webgpu';
export const s = ort.InferenceSession;
