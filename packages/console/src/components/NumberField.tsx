/**
 * A labelled number field of the console's forms. The text is kept as typed (each page reads
 * and checks it its own way, and an empty field means "not given").
 */
export function NumberField({
  label,
  value,
  onChange,
  testId,
  min,
  max,
  step = 'any',
  title,
}: {
  label: string;
  value: string;
  onChange: (text: string) => void;
  testId: string;
  min?: string;
  max?: string;
  step?: string;
  title?: string;
}) {
  return (
    <label title={title}>
      {label}
      <input
        className="narrow"
        type="number"
        min={min}
        max={max}
        step={step}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        data-testid={testId}
      />
    </label>
  );
}
