import {
  InferenceSession,
  Tensor,
} from
  'onnxruntime-web'; // ortfix-expect: jsep-import error
export const View = () => <div>{String(InferenceSession)}{String(Tensor)}</div>;
