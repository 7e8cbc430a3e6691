// ortfix-ignore-file: vendored demo
import * as c from 'onnxruntime-web';
