"""The objects list: add, rename (double-click), colour, remove, show/hide, keyframes per object."""
from __future__ import annotations

from ui.qt import QtCore, QtGui, QtWidgets

ID_ROLE = QtCore.Qt.UserRole + 1
KEYS_ROLE = QtCore.Qt.UserRole + 2


class _KeysDelegate(QtWidgets.QStyledItemDelegate):
    """Draws each object's keyframe count at the right of its row."""

    def paint(self, painter, option, index):
        super().paint(painter, option, index)
        count = index.data(KEYS_ROLE) or 0
        painter.save()
        painter.setPen(option.palette.color(QtGui.QPalette.HighlightedText if option.state & QtWidgets.QStyle.State_Selected
                                             else QtGui.QPalette.PlaceholderText))
        text = "{} key{}".format(count, "" if count == 1 else "s") if count else "no keys"
        painter.drawText(option.rect.adjusted(0, 0, -6, 0), QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter, text)
        painter.restore()


def swatch(colour: str, size: int = 14) -> QtGui.QIcon:
    pix = QtGui.QPixmap(size, size)
    pix.fill(QtGui.QColor(0, 0, 0, 0))
    painter = QtGui.QPainter(pix)
    painter.setPen(QtGui.QPen(QtGui.QColor(20, 20, 20), 1))
    painter.setBrush(QtGui.QColor(colour))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QtGui.QIcon(pix)


class ObjectsBox(QtWidgets.QGroupBox):
    """Forwards every edit to the controller and redraws from its `objects` event."""

    def __init__(self, controller, parent=None):
        super().__init__("Objects", parent)
        self.controller = controller
        self._updating = False
        self.list = QtWidgets.QListWidget()
        self.list.setToolTip("Each object gets its own alpha file. Tick to show its mask; double-click to rename. "
                             "Ticks on the frame slider show its keyframes.")
        self.list.setMaximumHeight(130)
        self.list.setItemDelegate(_KeysDelegate(self.list))
        self.add_button = QtWidgets.QPushButton("Add")
        self.add_button.setToolTip("Add an object to matte (a person, a prop). Ctrl+N")
        self.colour_button = QtWidgets.QPushButton("Colour…")
        self.colour_button.setToolTip("Change the colour its mask is drawn in")
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.setToolTip("Remove the object and all its masks")
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.add_button, self.colour_button, self.remove_button):
            buttons.addWidget(b)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(lambda: self.controller.add_object())
        self.remove_button.clicked.connect(self._remove)
        self.colour_button.clicked.connect(self._pick_colour)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemChanged.connect(self._item_changed)

    def refresh(self) -> None:
        self._updating = True
        try:
            self.list.clear()
            for obj in self.controller.objects:
                keys = sorted(obj.masks)
                item = QtWidgets.QListWidgetItem(swatch(obj.colour), obj.name)
                item.setData(QtCore.Qt.DisplayRole, obj.name)
                item.setData(KEYS_ROLE, len(keys))
                item.setData(ID_ROLE, obj.id)
                item.setFlags(item.flags() | QtCore.Qt.ItemIsEditable | QtCore.Qt.ItemIsUserCheckable)
                item.setCheckState(QtCore.Qt.Checked if obj.visible else QtCore.Qt.Unchecked)
                item.setToolTip("{}: keyframes {}".format(obj.name, ", ".join(map(str, keys)) if keys else "none yet"))
                self.list.addItem(item)
                if obj.id == self.controller.selected_id:
                    self.list.setCurrentItem(item)
        finally:
            self._updating = False
        has = bool(self.controller.objects)
        self.colour_button.setEnabled(has)
        self.remove_button.setEnabled(has)

    def select(self, obj_id) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(ID_ROLE) == obj_id and self.list.currentItem() is not item:
                self._updating = True
                self.list.setCurrentItem(item)
                self._updating = False

    def _current_id(self):
        item = self.list.currentItem()
        return item.data(ID_ROLE) if item is not None else None

    def _current_changed(self, current, _previous) -> None:
        if not self._updating and current is not None:
            self.controller.select(current.data(ID_ROLE))

    def _item_changed(self, item) -> None:
        if self._updating:
            return
        obj_id = item.data(ID_ROLE)
        obj = self.controller.object(obj_id)
        if obj is None:
            return
        visible = item.checkState() == QtCore.Qt.Checked
        if visible != obj.visible:
            self.controller.set_visible(obj_id, visible)
        if item.text() != obj.name:
            self.controller.rename_object(obj_id, item.text())

    def _remove(self) -> None:
        obj_id = self._current_id()
        if obj_id is not None:
            self.controller.remove_object(obj_id)

    def _pick_colour(self) -> None:
        obj = self.controller.object(self._current_id())
        if obj is None:
            return
        colour = QtWidgets.QColorDialog.getColor(QtGui.QColor(obj.colour), self, f"Colour of {obj.name}")
        if colour.isValid():
            self.controller.set_colour(obj.id, colour.name())
