import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import info
export const s = (m: string) => ort.InferenceSession.create(m);
