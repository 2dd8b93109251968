/**
 * The Ink component tree: settled lines in <Static> (printed once, never
 * redrawn, so the terminal's scrollback keeps them), live rows below.
 */
import { Box, Static, Text } from 'ink';
import type { ViewModel } from './model.ts';
import { liveLines, nameWidth, staticBody, staticText, type ViewOptions } from './view.ts';

export function App({ model, view }: { model: ViewModel; view: ViewOptions }) {
  const w = nameWidth(model);
  const live = liveLines(model, view);
  return (
    <>
      <Static items={[...model.staticItems]}>
        {(item) => {
          const body = staticBody(item, view);
          return (
            <Box key={item.key} flexDirection="column">
              <Text>{staticText(item, w, view)}</Text>
              {body !== undefined && (
                <Box paddingLeft={4}>
                  <Text>{body}</Text>
                </Box>
              )}
            </Box>
          );
        }}
      </Static>
      <Box flexDirection="column">
        {live.map((line, i) => (
          // Truncate rather than wrap: a wrapped live row changes the frame's height and smears on redraw.
          <Text key={i} wrap="truncate-end">
            {line}
          </Text>
        ))}
      </Box>
    </>
  );
}
