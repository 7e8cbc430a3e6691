import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import error
ort.InferenceSession.create('m.onnx', { executionProviders: ['webgpu'] });
