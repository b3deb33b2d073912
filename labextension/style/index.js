import './panel.css';
import './common.css';
import './run-detail.css';
import './metrics.css';
import './jobs.css';
import './models.css';
import './monitors.css';
import './hub.css';
