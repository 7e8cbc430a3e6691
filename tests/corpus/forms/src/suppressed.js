import * as a from 'onnxruntime-web'; // ortfix-ignore
// ortfix-ignore
import * as b from 'onnxruntime-web';
