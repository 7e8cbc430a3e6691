export * from 'onnxruntime-web'; // ortfix-expect: jsep-import error
export { InferenceSession } from 'onnxruntime-web/all'; // ortfix-expect: jsep-import error
