import '@ghostflow/backend-cpu';
import { runConformance } from '@ghostflow/backend-conformance';

runConformance({ backend: 'cpu' });
