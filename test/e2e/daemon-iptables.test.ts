import { describeDaemonSuite } from './daemon-suite.js';

describeDaemonSuite('iptables', 'e2eipt');
