// Exact branch probabilities: the shared Fraction of src/net, under the names the routing layer uses.
export { type Fraction, ONE, fraction, mul as mulFraction, toNumber as fractionValue } from '../../net/fraction.js';
