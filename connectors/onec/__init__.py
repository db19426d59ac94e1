"""1C in the two forms shops export it: the standard OData interface (`onec_source`, dlt source
`onec`) and CommerceML 2 exchange files (`commerceml_source`, dlt source `commerceml`)."""

from connectors.onec.commerceml import commerceml_source
from connectors.onec.odata import onec_source

__all__ = ["onec_source", "commerceml_source"]
