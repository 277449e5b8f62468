// The test page: one compiled form rendered by react-jsonschema-form with its default settings
// and the Ajv 8 validator for JSON Schema 2020-12, plus the document chooser that tokhai's UI
// schemas name ("tokhaiDocument"). Each build (v5/, v6/) bundles this file with its own RJSF.
// tests/forms/test_rjsf.py loads a bundle into an empty page and calls window.tokhaiRjsf.

export const DOCUMENT_WIDGET = 'tokhaiDocument';

export function install({ React, ReactDOM, flushSync, Form, customizeValidator, Ajv2020, version }) {
  const h = React.createElement;
  const validator = customizeValidator({ AjvClass: Ajv2020 });

  // A document chooser: the documents already chosen, and a button that would open the
  // citizen's documents (here it picks a sample one). Its value is the attachment list.
  function DocumentWidget(props) {
    const { id, value, onChange, schema, label, disabled, readonly } = props;
    const documents = Array.isArray(value) ? value : [];
    const item = (schema.items && schema.items.properties) || {};
    const types = (item.media_type && item.media_type.enum) || ['application/pdf'];
    const full = schema.maxItems !== undefined && documents.length >= schema.maxItems;
    const choose = () => onChange([...documents, {
      document_id: `TL-${String(documents.length + 1).padStart(4, '0')}`,
      file_name: `tai-lieu-${documents.length + 1}.pdf`,
      media_type: types[0],
    }]);
    return h('div', { className: 'tokhai-document', id, 'data-widget': DOCUMENT_WIDGET },
      documents.length
        ? h('ul', null, documents.map((d, i) => h('li', { key: i }, d.file_name || d.document_id)))
        : h('p', { className: 'tokhai-document-empty' }, 'Chưa chọn tài liệu'),
      h('button', { type: 'button', onClick: choose, disabled: disabled || readonly || full },
        `Chọn tài liệu: ${label || ''}`));
  }

  const state = { formData: undefined, root: null };
  window.tokhaiRjsf = {
    version,
    render(schema, uiSchema, formData) {
      const container = document.getElementById('root');
      if (state.root) state.root.unmount();
      state.root = ReactDOM.createRoot(container);
      state.formData = formData;
      flushSync(() => state.root.render(h(Form, {
        schema, uiSchema, formData, validator,
        widgets: { [DOCUMENT_WIDGET]: DocumentWidget },
        onChange: (e) => { state.formData = e.formData; },
      })));
    },
    formData() { return state.formData; },
    // Ajv 2020 (RJSF's validator) on an instance: the errors RJSF would show
    validate(schema, formData) {
      return validator.validateFormData(formData, schema).errors
        .map((e) => ({ property: e.property, name: e.name, message: e.message }));
    },
  };
}
