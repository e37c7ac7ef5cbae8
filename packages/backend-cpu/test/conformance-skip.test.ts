// `skip: ['torch-fixtures']` must skip without reading any fixture: with the fixture folder
// pointed at a directory that does not exist, registering the suite would throw at collection.
import '@ghostflow/backend-cpu';
import { runConformance } from '@ghostflow/backend-conformance';

process.env.GHOSTFLOW_TORCH_FIXTURES = '/nonexistent/ghostflow-torch-fixtures';
runConformance({ backend: 'cpu', only: ['torch-fixtures'], skip: ['torch-fixtures'] });
