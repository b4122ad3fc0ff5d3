import { describeDaemonSuite } from './daemon-suite.js';

describeDaemonSuite('nftables', 'e2enft');
